"""inference: jobs, their escrow, route assignment, deadlines and cancellation."""
