"""The application layer: the command line, parameter sweeps, benchmark suites and plots (thin).
"""
