"""Loop perforation: run only part of a loop's iterations."""
