"""The staff directory and the supporter pool: loading them from a file, syncing them from
LDAP/Active Directory, and writing them to their compacted topics keyed by staff reference."""
