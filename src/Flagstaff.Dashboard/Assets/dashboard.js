// Flagstaff dashboard: the little the pages need from the browser, with no inline scripts.
