"""The product's rules: entries, accounts and members, the change log, identifiers."""
