"""Work that runs without a caller waiting: the queue of invocations and the schedules."""
