"""dishka wiring: providers chosen by settings (the only place that builds adapters)."""
