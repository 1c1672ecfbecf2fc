import socket
def main(:
    pass
