"""Assessment over many futures: robustness, scenario discovery (PRIM) and sensitivity."""
