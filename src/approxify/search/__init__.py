"""Search: the space of configs, per-site sensitivity, the tuner, and the Pareto front."""
