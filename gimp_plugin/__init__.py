"""The GIMP 3 plug-in files (installed into a GIMP profile by `colorplug gimp install`)."""
