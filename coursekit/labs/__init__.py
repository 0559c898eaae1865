"""The checks of each lab: labNN.py holds exercises NN.1, NN.2, ... (imported by check())."""
