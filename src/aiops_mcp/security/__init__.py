"""Who may see what: bearer tokens and scopes, label enforcement, redaction, rate and cost limits, audit."""
