// Flagstaff dashboard: the little the pages need from the browser, with no inline scripts.

// The navigation's menu button, shown in narrow windows. Listening on the document keeps it working
// when Blazor's enhanced navigation replaces the layout; the new layout arrives closed.
document.addEventListener('click', event => {
  const button = event.target instanceof Element ? event.target.closest('.menu-button') : null;
  if (!button) {
    return;
  }

  const open = button.getAttribute('aria-expanded') !== 'true';
  button.setAttribute('aria-expanded', open ? 'true' : 'false');
  button.closest('.sidebar')?.classList.toggle('menu-open', open);
});

window.flagstaff = {
  // After a refused change: the first field the server named (its errors sit in the same .field).
  focusFirstInvalid() {
    const field = document.querySelector('.field-errors')?.closest('.field');
    field?.querySelector('input:not([disabled]), select:not([disabled]), textarea:not([disabled])')?.focus();
  },

  // What has the focus now, to give it back later (a dialog closing returns it to what opened it).
  keepFocus() {
    const element = document.activeElement;
    return {
      restore() {
        if (element instanceof HTMLElement && element.isConnected) {
          element.focus();
        }
      },
    };
  },
};
