"""Great Expectations suites, as code: one suite per boundary (raw landing, published marts)."""
