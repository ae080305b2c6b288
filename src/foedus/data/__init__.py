"""Shipped data (country figures, default parameters) and the loaders that
read them, and users' files, safely into domain types."""
