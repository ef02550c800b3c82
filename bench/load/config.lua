-- wrk script: GET /config with a matching If-None-Match (answered 304) and a server key.
wrk.method = "GET"
wrk.headers["X-Tggl-Api-Key"] = "fs_server_loadtestloadtestloadtest00"
wrk.headers["If-None-Match"] = os.getenv("ETAG") or '"1"'
