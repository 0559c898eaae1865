"""A middleware that counts the SQL queries of each request and says so in a header."""
from django.db import connection


def count_queries(get_response):
    def middleware(request):
        count = 0

        def counter(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counter):
            response = get_response(request)
        response["X-DB-Queries"] = str(count)
        return response
    return middleware
