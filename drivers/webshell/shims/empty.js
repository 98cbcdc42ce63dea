// Node built-ins the driver only uses for TCP connections, which a browser never opens.
module.exports = {};
