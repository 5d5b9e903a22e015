"""The command line, one module per command: `collect`, `alerts` (with the backtest), `demo`, `forget`, `store`.

`python -m glasspane` runs it (`python -m collectors` too, as it always did); `main` builds the parser.
"""
