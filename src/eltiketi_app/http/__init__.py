"""HTTP edge: one router module per resource, problem details, bearer auth, schemas."""
