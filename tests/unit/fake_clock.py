"""A clock for code that waits: calling it gives the time, sleep() moves it on without waiting."""


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
