"""yibao: the application. Domain packages here never import Sanic; see handlers/ for HTTP."""
