"""`python -m sidecarlint.builtin_rules`: write builtin.json from the YAML files."""

from sidecarlint.builtin_rules import BUNDLE, write_bundle

write_bundle()
print(f"wrote {BUNDLE}")
