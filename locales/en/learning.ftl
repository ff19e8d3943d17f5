# Texts of the learning capability.
