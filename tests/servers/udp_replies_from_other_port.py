"""BUGGY: answers every datagram from a second socket (another port). An unconnected
client's recvfrom() takes it; a connected client, a firewall or NAT drops it."""
import socket
import sys

listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
listener.bind(("127.0.0.1", int(sys.argv[1])))
sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
while True:
    data, address = listener.recvfrom(65535)
    sender.sendto(data, address)
