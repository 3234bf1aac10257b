"""统一身份认证: each person's one way in — a local password, the hospital's directory (LDAP / Active
Directory), its OIDC provider or its CAS server — and the staff sync from the directory."""
