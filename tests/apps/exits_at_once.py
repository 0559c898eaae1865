raise SystemExit("configuration missing: giving up")
