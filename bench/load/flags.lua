-- wrk script: POST /flags with one context and a client key.
wrk.method = "POST"
wrk.body = '{"userId":"u-2000417","email":"someone@acme.com","plan":"pro","appVersion":"2.5.1","country":"NL"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Tggl-Api-Key"] = "fs_client_loadtestloadtestloadtest00"
