"""The engine side of the GIMP 3 plug-in: the bridge it calls and its installer."""
