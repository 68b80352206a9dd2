"""Training, export, SQuAD evaluation and calibration of the reader. The runtime never imports this."""
