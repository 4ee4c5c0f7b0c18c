from . import dci
