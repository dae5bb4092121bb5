"""Entry kinds: one package per kind (flows, setup, entities), shared helpers in
`shared/`. The table of kinds is `catalog.KINDS`."""
