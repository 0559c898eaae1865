from aiohttp import web


async def index(request):
    return web.Response(text="aiohttp")


app = web.Application()
app.router.add_get("/", index)
