"""An import-linter contract type that import-linter lacks: an allow-list of packages.

`forbidden` contracts list what a package may not import; `solutions` is held to the
opposite, a short list of what it may import (the standard library, NumPy, the
frameworks, itself), so a new dependency fails the lint instead of slipping past a
deny-list. pyproject.toml's [tool.importlinter] registers it as `allowed_imports`.
"""

import sys

from importlinter import Contract, ContractCheck, fields, output


class AllowedImportsContract(Contract):
    """Modules of `source_modules` import only the standard library and `allowed_modules`.

    Options: source_modules (packages, checked with everything under them),
    allowed_modules (top-level package names: internal or external), ignore_imports
    (`importer -> imported` exceptions, each to be explained where it is listed).
    Needs `include_external_packages = true` so third-party imports are in the graph.
    """

    type_name = "allowed_imports"

    source_modules = fields.ListField(subfield=fields.ModuleField())
    allowed_modules = fields.ListField(subfield=fields.StringField())
    ignore_imports = fields.SetField(subfield=fields.ImportExpressionField(), required=False)

    def check(self, graph, verbose: bool) -> ContractCheck:
        allowed = set(self.allowed_modules) | set(sys.stdlib_module_names)
        ignored = {(str(e.importer), str(e.imported)) for e in self.ignore_imports or ()}
        found = []
        for source in self.source_modules:
            for importer in sorted({source.name} | graph.find_descendants(source.name)):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    if imported.split(".")[0] in allowed or (importer, imported) in ignored:
                        continue
                    details = graph.get_import_details(importer=importer, imported=imported)
                    lines = ", ".join(str(d["line_number"]) for d in details) or "?"
                    found.append(f"{importer} -> {imported} (l. {lines})")
        return ContractCheck(kept=not found, metadata={"found": found})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for line in check.metadata["found"]:
            output.print_error(f"- {line}: not on the allowed list", bold=False)
        output.new_line()
