using Flagstaff.Domain;

namespace Flagstaff.Storage;

public sealed partial class StoreSession
{
    private sealed class CodeReferenceScanRow
    {
        public string ProjectId { get; set; } = "";

        public string Repository { get; set; } = "";

        public string? Branch { get; set; }

        public string? CommitId { get; set; }

        public long ScannedAt { get; set; }

        public long UploadedAt { get; set; }

        public string UploadedBy { get; set; } = "";

        public long Files { get; set; }

        public string Flags { get; set; } = "[]";

        public CodeReferenceScan ToScan() => new()
        {
            ProjectId = ProjectId,
            Repository = Repository,
            Branch = Branch,
            Commit = CommitId,
            ScannedAt = At(ScannedAt),
            UploadedAt = At(UploadedAt),
            UploadedBy = UploadedBy,
            Files = (int)Files,
            Flags = FromJson(Flags, DomainJson.Default.IReadOnlyListFlagCodeReferences),
        };
    }

    private const string CodeReferenceScanColumns = "project_id, repository, branch, commit_id, scanned_at, uploaded_at, uploaded_by, files, flags";

    /// <summary>The last scan of each of a project's repositories, by repository name.</summary>
    public async Task<IReadOnlyList<CodeReferenceScan>> ListCodeReferenceScansAsync(string projectId) =>
        [.. (await QueryAsync<CodeReferenceScanRow>(
            $"SELECT {CodeReferenceScanColumns} FROM code_reference_scans WHERE project_id = @projectId ORDER BY repository", new { projectId }).ConfigureAwait(false)).Select(r => r.ToScan())];

    /// <summary>Stores a repository's scan in place of its previous one.</summary>
    public async Task ReplaceCodeReferenceScanAsync(CodeReferenceScan scan)
    {
        ArgumentNullException.ThrowIfNull(scan);
        await ExecuteAsync("DELETE FROM code_reference_scans WHERE project_id = @ProjectId AND repository = @Repository", new { scan.ProjectId, scan.Repository }).ConfigureAwait(false);
        await ExecuteAsync(
            $"INSERT INTO code_reference_scans ({CodeReferenceScanColumns}) VALUES (@ProjectId, @Repository, @Branch, @Commit, @scanned, @uploaded, @UploadedBy, @files, @flags)",
            new
            {
                scan.ProjectId,
                scan.Repository,
                scan.Branch,
                scan.Commit,
                scanned = Ms(scan.ScannedAt),
                uploaded = Ms(scan.UploadedAt),
                scan.UploadedBy,
                files = (long)scan.Files,
                flags = Json(scan.Flags, DomainJson.Default.IReadOnlyListFlagCodeReferences),
            }).ConfigureAwait(false);
    }

    /// <summary>Deletes a repository's scan; answers whether there was one.</summary>
    public async Task<bool> DeleteCodeReferenceScanAsync(string projectId, string repository) =>
        await ExecuteAsync("DELETE FROM code_reference_scans WHERE project_id = @projectId AND repository = @repository", new { projectId, repository }).ConfigureAwait(false) == 1;
}
