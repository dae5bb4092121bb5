"""Tests of the webhook sources (Gitea, Planka, generic) and their shared ingress."""
