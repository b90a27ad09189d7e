"""The server a probe in bench/ runs against: `infera serve` on a config file, its port
read from the "infera listening on http://HOST:PORT" line, stopped with SIGTERM.

  with ProbeServer(infera, config, env) as port: ...
"""

import signal
import subprocess
import sys
import time


class ProbeServer:
    def __init__(self, infera, config, env=None, start_timeout_s=300):
        self.args = [infera, "serve", "--config", config]
        self.env = env
        self.start_timeout_s = start_timeout_s
        self.process = None

    def __enter__(self):
        self.process = subprocess.Popen(self.args, env=self.env, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        deadline = time.time() + self.start_timeout_s
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            if line.startswith("infera listening on http://"):
                return int(line.strip().rsplit(":", 1)[1])
        self.__exit__(None, None, None)
        sys.exit("the server did not start")

    def __exit__(self, *exc):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
        return False

    @property
    def pid(self):
        return self.process.pid
