// Placeholder until the CLI lands.
print("vmrr")
