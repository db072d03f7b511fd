"""What checks use: the check API and catalogue, the reply model, id sequences, drift."""
