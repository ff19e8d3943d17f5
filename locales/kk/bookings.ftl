# Texts of the bookings capability.
