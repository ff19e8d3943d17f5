# Texts of the notify capability.
