"""Each script once per page.

With Sphinx 7.4, an inline script that an extension registers while the build runs
(`app.add_js_file(None, body=...)`) reaches every page twice. For sphinx-togglebutton's
`var togglebuttonSelector = ...` that is harmless; sphinx-thebe's
`const THEBE_JS_URL = ...` declared twice is a SyntaxError that every page shows in the
browser's console. This extension drops the repeats from each page's list of scripts.
"""


def _scripts_once(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        # The repeat differs only in its filename: None once, "" the other time.
        key = repr((script.filename or "", sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    # In place: it is the builder's own list, to which later handlers (MathJax's) add.
    scripts[:] = kept


def setup(app):
    # Early: html-page-context stops at the first handler that returns a template name.
    app.connect("html-page-context", _scripts_once, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
