"""`steerdsl review`: a person's decisions on groundedness verdicts, in the terminal
(terminal.py) or through a CSV file (decisions_csv.py); the store keeps them (store/reviews.py)."""
