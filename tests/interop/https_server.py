"""A static HTTPS server for the verifier's fetch tests: serves a directory on 127.0.0.1 with the
given certificate, prints its port, and logs each request path to stdout (so a test can count
fetches). Usage: python3 https_server.py DIR CERT KEY"""
import http.server
import os
import ssl
import sys
import threading

directory, cert, key = sys.argv[1:4]
# Handler threads write whole lines, one at a time.
lock = threading.Lock()


class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=directory, **kwargs)

    def log_message(self, fmt, *args):
        with lock:
            sys.stdout.write("GET " + self.path + "\n")
            sys.stdout.flush()


httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
print(httpd.server_address[1], flush=True)
os.set_blocking(sys.stdout.fileno(), True)
httpd.serve_forever()
