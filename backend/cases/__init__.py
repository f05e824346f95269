"""Cases: persistence and service functions of the workflow engine in ``workflows/``."""
