"""Results: plain JSON-able data first (``Result``), rendering second (terminal, source export)."""
