-- wrk script: cycle through pre-generated signed requests, one per line: PATH<TAB>BODY.
local requests = {}
local index = 0

init = function(args)
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    requests[#requests + 1] = wrk.format("POST", line:sub(1, tab - 1),
      { ["Content-Type"] = "text/xml" }, line:sub(tab + 1))
  end
end

request = function()
  index = index + 1
  if index > #requests then index = 1 end
  return requests[index]
end
