"""`refuseu paper`: every training run and evaluation of the paper from one built dataset, and one report."""
