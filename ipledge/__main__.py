"""``python -m ipledge`` = the ``ipledge`` command."""
from ipledge.cli.main import main

if __name__ == "__main__":
    main()
