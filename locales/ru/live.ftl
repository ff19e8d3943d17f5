# Texts of the live capability.
