using System.Runtime.CompilerServices;

// Evaluation writes derived text (String(n), lower case, UTF-8 for hashing) into stack buffers that
// are always written before they are read: zeroing them first is wasted work on the hot path.
[module: SkipLocalsInit]
