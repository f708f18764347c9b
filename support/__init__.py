"""Development support shared by the tests, the benchmark and the demo: a real redis-server on a
free port, and beat processes to start, kill and watch. Not part of the package that ships."""
